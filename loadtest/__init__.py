"""The load-test harness: drives many WebSocket and HTTP clients against a deployment.

It is a client of the server and uses only ``protocol``. The scenario runner is being built
(see the load-test issue); nothing here is imported by the server.
"""
