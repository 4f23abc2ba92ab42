"""Placeholder: replaced below."""
def build_site(out):
    return None
