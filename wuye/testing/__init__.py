"""Test support shared by every app's tests: the named cast, factories and the permission-matrix helper.

It lives outside `wuye.core` because the cast is made of domain objects, and core imports no domain app.
"""
