@relinking
Feature: Membership relinking of a supplementary program
  Future-dated relinking through linkCustomer and its cancellation through
  customerPartnerProgramUpdate (doc link-customer: body parameters, error codes;
  doc update-partner-program: body parameters, error codes). Relinking depends
  on the org's ALLOW_MEMBERSHIP_RELINKING setting, declared per org in the profile.

  Rule: With relinking enabled, a future start after the membership ends queues a relink

    @RELINK-QUEUE @doc/link-customer/body-parameters
    Scenario: A start date after the current membership ends queues a relink
      Given an org where membership relinking is enabled
      And a customer linked to the supplementary program
      When the customer is linked to the supplementary program with a membership start date after the current membership ends
      Then the link succeeds
      And a pending relink can be cancelled for the customer
      And every customer's stored partner programs are as the documents say

    @RELINK-BEFORE-END @doc/link-customer/error-codes
    Scenario: A start date before the current membership ends is rejected with 2005
      Given an org where membership relinking is enabled
      And a customer linked to the supplementary program
      When the customer is linked to the supplementary program with a membership start date before the current membership ends
      Then the link is rejected with error 2005
      And every customer's stored partner programs are as the documents say

    @LINK-2025 @doc/link-customer/error-codes
    Scenario: A start date in the past is rejected with 2025
      Given an org where membership relinking is enabled
      And a customer linked to the supplementary program
      When the customer is linked to the supplementary program with a membership start date of yesterday
      Then the link is rejected with error 2025
      And every customer's stored partner programs are as the documents say

  Rule: A pending relink can be cancelled once

    @RELINK-CANCEL @doc/update-partner-program/body-parameters
    Scenario: Cancelling a pending relink succeeds
      Given an org where membership relinking is enabled
      And a customer with a pending relink to the supplementary program
      When the customer's pending relink to the supplementary program is cancelled
      Then the update succeeds
      And no relink to the supplementary program is pending for the customer any more
      And every customer's stored partner programs are as the documents say

    @RELINK-AFTER-CANCEL @doc/update-partner-program/body-parameters
    Scenario: Once a pending relink is cancelled a relink can be queued again
      Given an org where membership relinking is enabled
      And a customer with a pending relink to the supplementary program
      And the customer's pending relink to the supplementary program was cancelled
      When the customer is linked to the supplementary program with a membership start date after the current membership ends
      Then the link succeeds
      And a pending relink can be cancelled for the customer
      And every customer's stored partner programs are as the documents say

    @UPDATE-2027 @doc/update-partner-program/error-codes
    Scenario: A second cancellation is rejected with 2027
      Given an org where membership relinking is enabled
      And a customer with a pending relink to the supplementary program
      And the customer's pending relink to the supplementary program was cancelled
      When the customer's pending relink to the supplementary program is cancelled
      Then the update is rejected with error 2027
      And every customer's stored partner programs are as the documents say

  Rule: Renewal initiation belongs to orgs without relinking

    @UPDATE-2028 @doc/update-partner-program/error-codes
    Scenario: Renewal initiation with relinking enabled is rejected with 2028
      Given an org where membership relinking is enabled
      And a customer linked to the supplementary program
      When a membership renewal is initiated for the customer in the supplementary program
      Then the update is rejected with error 2028
      And every customer's stored partner programs are as the documents say

    @UPDATE-RENEWAL-INITIATION @doc/update-partner-program/body-parameters
    Scenario: Renewal initiation with relinking disabled succeeds
      Given an org where membership relinking is disabled
      And a customer linked to the supplementary program
      When a membership renewal is initiated for the customer in the supplementary program
      Then the update succeeds
      And the customer's tier in the supplementary program is its lowest tier
      And every customer's stored partner programs are as the documents say

  Rule: With relinking disabled, relinking and its cancellation are refused

    @LINK-2026 @doc/link-customer/error-codes
    Scenario: A future-dated relink with relinking disabled is rejected with 2026
      Given an org where membership relinking is disabled
      And a customer linked to the supplementary program
      When the customer is linked to the supplementary program with a membership start date after the current membership ends
      Then the link is rejected with error 2026
      And every customer's stored partner programs are as the documents say

    @UPDATE-2026 @doc/update-partner-program/error-codes
    Scenario: Cancelling a relink with relinking disabled is rejected with 2026
      Given an org where membership relinking is disabled
      And a customer linked to the supplementary program
      When the customer's pending relink to the supplementary program is cancelled
      Then the update is rejected with error 2026
      And every customer's stored partner programs are as the documents say
