from rest_framework import pagination


class CursorPagination(pagination.CursorPagination):
    """One pagination style for every list: cursors, newest first.

    Cursors never count the table, so a list over millions of rows costs the same as over ten,
    and rows arriving while a client pages do not shift what it sees.
    """

    ordering = "-id"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
