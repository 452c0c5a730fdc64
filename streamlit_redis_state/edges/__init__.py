"""The edges: Redis (store, scripts, notifications, listener) and Streamlit (the bridge).

Each edge speaks to one outside system and knows nothing of the engine above it.
"""
