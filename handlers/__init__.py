"""Conversation flows, channel-agnostic: `Incoming` in, `Reply` list out."""
