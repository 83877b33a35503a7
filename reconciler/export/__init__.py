"""`export`: merchant YAML from live settings, to adopt a merchant configured by hand.

identity.py says who the merchant is (ids and secret references, from its
file or, in the sandbox, from the seeded accounts that have no file yet);
document.py decides what to write (only what differs from the profile, and
only values that validate); yamlout.py writes YAML with comments.
"""
