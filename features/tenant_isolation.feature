@tenant
Feature: Orgs are kept apart
  Every request names no org: the credentials do (capillary-facts: authentication; the customer
  APIs and GET /v2/organization/programs answer for the caller's org). So a customer the suite
  provisions in one org of the profile must stay invisible to the profile's other org: not found
  when that org links, updates or delinks it, not returned by its lookup, its loyalty details not
  readable, and no event of its writes delivered to a webhook the other org registered. These
  scenarios need a profile with two orgs (the embedded profile has two); with one they are skipped,
  naming the key.

  Rule: Another org's credentials do not reach the customer

    @TENANT-LINK @doc/capillary-facts/customer-apis
    Scenario: A customer of one org is not found when another org links it
      Given a customer enrolled in the loyalty program
      When another org links the customer to its external program
      Then the customer is not found through the other org
      And every customer's stored partner programs are as the documents say

    @TENANT-UPDATE @doc/capillary-facts/customer-apis
    Scenario: A customer of one org is not found when another org upgrades it
      Given a customer linked to the external program at its lowest tier
      When another org upgrades the customer to its external program's highest tier
      Then the customer is not found through the other org
      And every customer's stored partner programs are as the documents say

    @TENANT-DELINK @doc/capillary-facts/customer-apis
    Scenario: A customer of one org is not found when another org delinks it
      Given a customer linked to the external program
      When another org delinks the customer from its external program
      Then the customer is not found through the other org
      And every customer's stored partner programs are as the documents say

    @TENANT-READ @doc/capillary-facts/customer-apis
    Scenario: Another org's lookup and loyalty details do not show a customer of this org
      Given a customer linked to the external program
      When another org looks the customer up and reads its loyalty details
      Then neither answer shows the customer
      And every customer's stored partner programs are as the documents say

  Rule: Events reach only the webhooks of the org whose write caused them

    @TENANT-EVENTS @doc/capillary-facts/webhooks-event-notifications @webhook
    Scenario: An event of one org's write never reaches a webhook another org registered
      Given a webhook registered by another org
      And a customer enrolled in the loyalty program
      When the customer is linked to the external program
      Then partnerProgramLinked announces the link with the customer, the program and its details
      And the other org's webhook receives no event of the link
      And every customer's stored partner programs are as the documents say
