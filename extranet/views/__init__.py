"""Pages of the supplier extranet (under /extranet/) and the buyers' queue in the staff UI."""
