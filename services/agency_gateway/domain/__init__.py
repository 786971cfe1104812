"""Agency gateway domain: the delivery aggregate and its events. No framework imports."""
