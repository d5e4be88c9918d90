"""The send branch: would a receiver accept mail from this server? (built by the sender issue)"""
