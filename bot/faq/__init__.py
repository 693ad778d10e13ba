"""Common requests: answers suggested for requests that resemble a known one."""
