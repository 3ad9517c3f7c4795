"""Chinese first.

People on the public site and in the admin see Chinese unless they chose English with the
language switch (its cookie): a browser's Accept-Language does not override that, since most of
the platform's users are in mainland China on whatever device they have. The API is different:
integrators ask for the language of error messages with Accept-Language, and get it.
"""

from django.conf import settings
from django.middleware.locale import LocaleMiddleware
from django.utils import translation


class ChineseFirstLocaleMiddleware(LocaleMiddleware):
    def process_request(self, request):
        if request.path.startswith("/api/"):
            return super().process_request(request)
        supported = {code for code, _name in settings.LANGUAGES}
        language = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        if language not in supported:
            language = settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()
