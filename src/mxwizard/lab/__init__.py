"""The built-in lab: a miniature mail internet on loopback (DNS server, SMTP hosts, scenarios).

It is the teaching material for trainers, the playground for novices without a broken server at
hand, and the fixture of every test and benchmark. Everything binds to 127.0.0.0/8 only."""
