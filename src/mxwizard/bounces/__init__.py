"""Bounces and mail logs, read the way a postmaster reads them.

:mod:`~mxwizard.bounces.rules` weighs what a bounce says about one recipient and names the
class, the side and how sure it is; :mod:`~mxwizard.bounces.maillog` reads Postfix, Exim and
Sendmail logs into deliveries; :mod:`~mxwizard.bounces.batch` finds the messages in a directory,
a Maildir or an mbox and sums them up. The first two are pure; the third does the reading, with
bounds on every input. :mod:`mxwizard.bounces.explain` turns their answers into reports.
"""
