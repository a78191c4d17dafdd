"""Segments, campaigns and journeys. Their models arrive with the segments issue."""
