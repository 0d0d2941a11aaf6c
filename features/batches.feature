@batch
Feature: Batches of 50 customers
  Each endpoint takes up to 50 customers in one request (doc link-customer: resource
  information; doc update-partner-program: resource information; doc delink-customer:
  resource information, whose "Batch support: No" is AMB-DELINK-BATCH). One set of 50
  customers is linked, upgraded and delinked, 50 to a request, and the state oracle then
  compares every one of them. Each customer gets values of its own (tiers, tier expiries,
  membership ids; neighbours differ), so a write applied to another customer of the request
  shows, and each write's effect shows in what it left behind: two customers in three, the first
  and the last among them, keep the external program at the tier above the one it was linked at,
  the others the supplementary program. It needs the profile's supplementary program (without one it is skipped, naming the
  profile key). Requests over 50 customers: the endpoints' own features.

  Rule: 50 customers in one request are answered, and changed, per customer

    @LINK-BATCH-50 @UPDATE-BATCH-50 @DELINK-BATCH-50 @doc/link-customer/resource-information @doc/update-partner-program/resource-information @doc/delink-customer/resource-information
    Scenario: 50 customers in one request are linked, then upgraded, then delinked from one program
      Given 50 customers enrolled in the loyalty program
      When the customers are linked to the external and the supplementary program in one request
      Then the link succeeds for every customer
      When the customers are upgraded in the external program in one request, each to the tier above its own
      Then the update succeeds for every customer
      When the customers are delinked in one request, each from one of its two programs
      Then the delink is answered for every customer
      And every customer's stored partner programs are as the documents say
