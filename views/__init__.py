"""What people read, shared by handlers and the scheduler: the catalog (i18n, locales/),
dates and time spans, labels of domain values, buttons (typed callback data), files
(QR codes, spreadsheets), and the messages sent to other people (notifications).

Below handlers and scheduler, above models; imports neither of the first two.
"""
