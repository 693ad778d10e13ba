"""Request quality: which top-level posts are requests, and the clocks after the first response.

``noise`` decides whether a post is only thanks, an acknowledgement, a greeting or emoji;
``turns`` applies the per-channel rules inside the desk's transaction (posts set aside,
bursts, next response, waiting on the requester, resolution); ``figures`` reads them back
for /support stats. The rules are stated in docs/measurement.md.
"""
