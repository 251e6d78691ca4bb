"""The operators' admin dashboard: a server-rendered Flask app behind Hosting's /admin/**.

app.py builds the app and resolves the branded portal; auth.py signs staff in with Firebase
session cookies; access.py decides who sees which operator; one blueprint per page family
(signin, operations, sessions, audit, customers, disputes) renders the pages from the typed
read models in parkingdone.models, and every action goes through the domain functions the
callables use.
"""
