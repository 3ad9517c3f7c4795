"""Serializer building blocks shared by the apps' APIs."""

import copy

from django.utils import translation

# (serializer class, language) -> its fields as the REST framework builds them, never bound.
_built: dict = {}


class FieldsBuiltOnce:
    """A ModelSerializer whose fields are built from the model once per class and language,
    and copied for each instance.

    The REST framework builds a ModelSerializer's fields from the model on every instance: for
    a complaint's 36 fields that took 1.79 of the 1.94 ms of serializing one case (92 %), where
    copying fields built before takes 0.74 ms (docs/PERFORMANCE.md). Labels, help texts and
    choices stay lazy and are translated when read; the building also compares each verbose
    name, in the active language, with the field's name, so each language has fields of its
    own. A serializer using this must build the same fields for every instance: fields chosen
    by the context or the instance belong in `to_representation`, not `get_fields`."""

    def get_fields(self):
        key = (type(self), translation.get_language())
        built = _built.get(key)
        if built is None:
            built = _built[key] = super().get_fields()
        # Each instance binds its own copies: a field belongs to one serializer.
        return copy.deepcopy(built)
