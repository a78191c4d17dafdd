"""The CRM's WSGI application with the personal-data access log switched off, for ``privacy.py`` alone:
it measures what the log costs by comparing the same requests with and without it. Production code
has no such switch on purpose."""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")

from django.core.wsgi import get_wsgi_application

application = get_wsgi_application()

from customers.privacy import hooks  # noqa: E402

hooks._write = lambda request, note: None
