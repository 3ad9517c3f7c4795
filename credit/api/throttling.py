"""The public credit pages' and API's limit: one counter per client address, shared by the pages
and the API, at the `credit_public` rate (settings: API_RATE_CREDIT_PUBLIC).

No key is needed to read credit (ECL Art. 39: the results are publicised), so the address is all
there is to count by. The counter is the project's fixed window (config.api.throttling). The cache
key carries a keyed hash of the address, not the address; IPv6 clients are counted by /64, the
block one subscriber line usually gets, so that cycling through it does not reset the count.
"""

from __future__ import annotations

import ipaddress

from django.utils.crypto import salted_hmac

from config.api.throttling import FixedWindowRateThrottle


class CreditPublicThrottle(FixedWindowRateThrottle):
    scope = "credit_public"

    def get_cache_key(self, request, view):
        # DRF's get_ident: REMOTE_ADDR, or the entry NUM_PROXIES trusted proxies added.
        address = self.get_ident(request)
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            pass
        else:
            if ip.version == 6 and ip.ipv4_mapped is None:
                address = str(ipaddress.ip_network(f"{ip}/64", strict=False))
            elif ip.version == 6:
                address = str(ip.ipv4_mapped)
        ident = salted_hmac("credit.public.address", address).hexdigest()[:32]
        return self.cache_format % {"scope": self.scope, "ident": ident}
