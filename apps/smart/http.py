"""Compatibility name: the outbound HTTP helpers live in apps.smart.outbound (other apps import `http`)."""

from apps.smart.outbound import OutboundError, check_destination, measuring, outbound_timer, request, timeouts

__all__ = ["OutboundError", "check_destination", "measuring", "outbound_timer", "request", "timeouts"]
