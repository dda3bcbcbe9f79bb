"""The client's address, believing `X-Forwarded-For` only from trusted proxies."""

from collections.abc import Sequence
from ipaddress import IPv4Network, IPv6Network, ip_address

from fastapi import Request


def client_address(
    peer: str | None,
    forwarded_for: Sequence[str],
    trusted: Sequence[IPv4Network | IPv6Network],
) -> str | None:
    """The first address, from the right, that no trusted proxy added.

    Each trusted proxy appends the address it was reached from; anything further left was
    written by the client and may be forged, so the walk stops at the first untrusted hop.
    """
    if peer is None or not _is_trusted(peer, trusted):
        return peer
    hops = [hop.strip() for header in forwarded_for for hop in header.split(",") if hop.strip()]
    address = peer
    for hop in reversed(hops):
        address = hop
        if not _is_trusted(hop, trusted):
            break
    return address


def request_client_address(request: Request) -> str | None:
    """The address of the client that sent this request (see `client_address`)."""
    return client_address(
        request.client.host if request.client else None,
        request.headers.getlist("x-forwarded-for"),
        request.app.state.settings.trusted_proxy_networks,
    )


def _is_trusted(address: str, trusted: Sequence[IPv4Network | IPv6Network]) -> bool:
    try:
        parsed = ip_address(address)
    except ValueError:
        return False
    return any(parsed in network for network in trusted)
