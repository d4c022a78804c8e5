"""Host vectors (README section 4): placeholder, filled below."""
GROUPS = []


def resolve_payloads(files, actual):
    pass


def check_reason(case):
    return None
