"""The tabs of the Gradio app, one module each, built on one shared :class:`Context`."""
