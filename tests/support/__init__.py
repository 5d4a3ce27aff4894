"""Test support: local servers and fixtures shared by tests."""
