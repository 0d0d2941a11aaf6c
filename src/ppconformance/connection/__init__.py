"""The target: the HTTP client (the one module that speaks HTTP), the profile that describes the target,
the org's calendar dates, and the embedded reference server started as a separate process."""
