"""The API's JSON parser: the REST framework's, refusing bodies nested too deep to decode."""

from rest_framework import parsers
from rest_framework.exceptions import ParseError


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            # `[[[[…` a hundred thousand deep exhausts the decoder's stack: a 400, not a 500.
            raise ParseError("JSON parse error - nested too deeply") from None
