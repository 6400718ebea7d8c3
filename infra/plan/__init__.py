"""Offline plan: run the program under recording mocks, render, validate and summarise it."""
