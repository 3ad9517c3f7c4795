from django.http import Http404


def track(request, code, token):
    raise Http404
