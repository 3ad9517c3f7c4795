from rest_framework import serializers

from accounts.models import Party, Restriction


class RestrictionOut(serializers.ModelSerializer):
    in_force = serializers.SerializerMethodField()

    class Meta:
        model = Restriction
        fields = [
            "id",
            "party",
            "kind",
            "starts_at",
            "ends_at",
            "reason",
            "legal_basis",
            "in_force",
            "lifted_at",
            "lift_reason",
        ]

    def get_in_force(self, obj: Restriction) -> bool:
        return obj.is_in_force()


class PartyOut(serializers.ModelSerializer):
    restrictions_in_force = RestrictionOut(many=True, read_only=True)

    class Meta:
        model = Party
        fields = [
            "id",
            "kind",
            "name",
            "platform_ref",
            "created_at",
            "updated_at",
            "restrictions_in_force",
        ]


class KeyOut(serializers.Serializer):
    name = serializers.CharField()
    scopes = serializers.ListField(child=serializers.CharField())
    party_id = serializers.IntegerField(allow_null=True)


class PingOut(serializers.Serializer):
    event_id = serializers.UUIDField()
    endpoints = serializers.IntegerField()
