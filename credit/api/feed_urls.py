"""The consortium's feed (credit/api/feed.py), apart from the public credit API's URLs."""

from django.urls import path

from credit.api import feed

urlpatterns = [
    path("credit/feed/", feed.FeedView.as_view(), name="credit-feed"),
    path("credit/feed/key/", feed.FeedKeyView.as_view(), name="credit-feed-key"),
]
