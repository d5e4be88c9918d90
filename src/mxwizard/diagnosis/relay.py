"""The relay branch: does a server relay mail for strangers? (built by the SMTP issue)"""
