from django.utils.translation import gettext_lazy as _
from rest_framework import pagination
from rest_framework.exceptions import NotFound, ValidationError


class CursorPagination(pagination.CursorPagination):
    """One pagination style for every list: cursors, newest first.

    Cursors never count the table, so a list over millions of rows costs the same as over ten,
    and rows arriving while a client pages do not shift what it sees.

    A malformed `page_size` or `cursor` is a 400 naming the parameter. The REST framework would
    quietly fall back to the default page size (a client asking for `page_size=0` or `=ten` gets
    fifty rows and no hint why) and answers a bad cursor 404, as if the list were missing. A page
    size above the maximum is cut to the maximum, as documented.
    """

    ordering = "-id"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200

    def get_page_size(self, request):
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None or raw == "":
            return self.page_size
        try:
            size = int(raw)
        except ValueError:
            size = 0
        if size < 1:
            raise ValidationError(
                {self.page_size_query_param: [_("Give a whole number of rows, at least 1.")]}
            )
        return min(size, self.max_page_size)

    def decode_cursor(self, request):
        try:
            return super().decode_cursor(request)
        except NotFound:
            raise ValidationError(
                {self.cursor_query_param: [_("Not a cursor this list handed out.")]}
            ) from None

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"] = {"type": "integer", "minimum": 1}
                parameter["description"] = str(
                    _("Rows per page, %(default)d if not given; over %(max)d is cut to %(max)d.")
                    % {"default": self.page_size, "max": self.max_page_size}
                )
        return parameters
