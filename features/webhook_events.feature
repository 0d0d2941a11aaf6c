@events @webhook
Feature: Webhook events announce the Partner Program actions
  Doc events (and capillary-facts#webhooks-event-notifications): partnerProgramLinked,
  partnerProgramUpdated, partnerProgramDelinked and supplementaryMembershipExpiryReminder
  are delivered to the webhooks registered for them. The suite's sink receives them
  (docs/webhooks.md); each event must arrive within the profile's delivery
  deadline, validate against schemas/events/ in any documented form, and name the
  customer, program and details of the action that caused it.

  Rule: Every successful action is announced

    @EVENT-LINKED @doc/events/partner-program-linked-partnerprogramlinked
    Scenario: A successful link is announced by partnerProgramLinked
      Given a customer enrolled in the loyalty program
      When the customer is linked to the external program
      Then the link succeeds
      And partnerProgramLinked announces the link with the customer, the program and its details
      And every customer's stored partner programs are as the documents say

    @EVENT-UPDATED @doc/events/partner-program-updated-partnerprogramupdated
    Scenario: A successful upgrade is announced by partnerProgramUpdated with its updateType
      Given a customer linked to the external program at its lowest tier
      When the customer is upgraded to the external program's highest tier
      Then the update succeeds
      And partnerProgramUpdated announces the update with its updateType
      And every customer's stored partner programs are as the documents say

    @EVENT-DELINKED @doc/events/partner-program-delinked-partnerprogramdelinked
    Scenario: A successful delink is announced by partnerProgramDelinked
      Given a customer linked to the external program
      When the customer is delinked from the external program
      Then the delink succeeds
      And partnerProgramDelinked announces the delink
      And every customer's stored partner programs are as the documents say

  Rule: A rejected item is announced by nothing

    @EVENT-NONE-ON-FAILURE @doc/events/partner-program-linked-partnerprogramlinked
    Scenario: A rejected link is announced by no event
      Given a customer enrolled in the loyalty program
      When the customer is linked to the external program at a tier it does not have
      And the customer is linked to the external program
      Then partnerProgramLinked announces the link with the customer, the program and its details
      And no event announces the rejected link
      And every customer's stored partner programs are as the documents say

  Rule: The scheduler's events (the reference server's simulated clock)

    @EVENT-EXPIRY-REMINDER @doc/events/supplementary-partner-program-expiry-reminder-supplementarymembershipexpiryreminder @needs_clock
    Scenario: A supplementary membership about to expire is announced by supplementaryMembershipExpiryReminder
      Given a customer linked to the supplementary program
      When the scheduler runs for the customer 3 days before the membership ends
      Then supplementaryMembershipExpiryReminder announces the membership's end date
      And every customer's stored partner programs are as the documents say

    @EVENT-RELINK-ACTIVATION @doc/events/partner-program-linked-partnerprogramlinked @needs_clock
    Scenario: A future-dated relink is announced by partnerProgramLinked when it starts
      Given a customer with a pending relink to the supplementary program
      When the scheduler runs for the customer on the pending relink's start date
      Then partnerProgramLinked announces the relink
      And every customer's stored partner programs are as the documents say

  Rule: Deliveries keep the documented promises (capillary-facts#webhooks-event-notifications)

    @WEBHOOK-STATIC-HEADERS @doc/capillary-facts/webhooks-event-notifications
    Scenario: Every delivery carries the static headers configured on the webhook
      Given a customer enrolled in the loyalty program
      When the customer is linked to the external program
      Then the link succeeds
      And partnerProgramLinked is delivered with every static header configured on the webhook
      And every customer's stored partner programs are as the documents say

    @WEBHOOK-NO-RETRY-4XX @doc/capillary-facts/webhooks-event-notifications @waits_retry_window
    Scenario: A delivery refused with 400 is not retried
      Given a customer enrolled in the loyalty program
      And the webhook receiver refuses the customer's next event with HTTP 400
      When the customer is linked to the external program
      Then the link succeeds
      And partnerProgramLinked is not delivered again after the receiver refused it with 400
      And every customer's stored partner programs are as the documents say

    @WEBHOOK-RETRY-429 @doc/capillary-facts/webhooks-event-notifications @waits_retry_window
    Scenario: A delivery refused with 429 is retried until it is accepted
      Given a customer enrolled in the loyalty program
      And the webhook receiver refuses the customer's next 2 events with HTTP 429
      When the customer is linked to the external program
      Then the link succeeds
      And partnerProgramLinked is delivered again after each 429 until the receiver accepts it
      And every customer's stored partner programs are as the documents say
