"""Shared helpers for the test suite: real servers, free ports, the browser."""
