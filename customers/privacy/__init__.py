"""Privacy by design: the personal-data access log, masking, consent checks, data-subject requests and
retention. See the README's "Privacy" section.

What other features use:

- ``customers.privacy.log``: ``access_record(request, action, customer_ids, reason=None)``;
- ``customers.privacy.hooks``: ``logs_personal_data`` (view decorator), ``PersonalDataViewMixin``,
  ``PersonalDataAPIMixin`` (DRF), ``PersonalDataAdminMixin``;
- ``customers.privacy.masking``: ``mask_value``, ``MaskedField`` (DRF) and the ``privacy`` template tags;
- ``customers.privacy.consent``: ``consent_allows(customer_ids, channel, purpose)``;
- ``customers.privacy.subject``: ``register_export_section`` / ``register_erasure_step`` for the apps
  to the right (campaigns: segment memberships, deliveries).
"""
