"""The built-in lab: a miniature mail internet on loopback (DNS server, SMTP hosts, scenarios).

It is the teaching material for trainers, the playground for novices without a broken server at
hand, and the fixture of every test and benchmark. Everything binds to 127.0.0.0/8 only."""

#: The lab's documented ports (README): off every well-known service — not 53, and not 5353,
#: which is mDNS (avahi) on most Linux desktops — so the commands a trainer copies work. Kept
#: here, free of imports, so that the command line can show them without loading the lab.
LAB_DNS_PORT = 10053
LAB_SMTP_PORT = 2525
#: The MTA-STS policy web server's port (HTTPS on 127.0.6.200; lab mode fetches policies there).
LAB_HTTPS_PORT = 10443
