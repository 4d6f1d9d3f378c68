"""The pure ranking engine: values in, values out (views are read through protocols)."""
