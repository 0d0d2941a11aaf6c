"""The conformance report: per requirement its outcome, citation, quote, the checks that judged it and the
stance applied (`conformance`), rendered as Markdown and standalone HTML (`render`), with waivers (`waivers`)
and the difference from a baseline report (`baseline`). Pure data in, files out: no pytest, no HTTP."""
