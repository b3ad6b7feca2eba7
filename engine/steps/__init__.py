"""One module per step type, each a small executor on the context's one streamed conversation.

Executors are registered with their step model in `engine.workflow.registry` (see model.py).
"""
