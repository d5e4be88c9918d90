"""The receive branch: can the world deliver mail to a domain? (built by the DNS and SMTP issues)"""
