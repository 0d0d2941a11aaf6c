@customerPartnerProgramUpdate
Feature: Update a customer's partner program
  POST /v2/partnerProgram/customerPartnerProgramUpdate (doc update-partner-program:
  body parameters, example response, error codes).

  Rule: Tier updates change the customer's tier

    @UPDATE-SUCCESS @UPDATE-UPGRADE-TIER @doc/update-partner-program/example-response @doc/update-partner-program/body-parameters
    Scenario: An upgrade moves the customer to the higher tier
      Given a customer linked to the external program at its lowest tier
      When the customer is upgraded to the external program's highest tier
      Then the update succeeds
      And the customer's tier in the external program is its highest tier
      And the update result names the update type performed
      And every customer's stored partner programs are as the documents say

    @UPDATE-TIER-EXPIRY @doc/update-partner-program/body-parameters
    Scenario: An upgrade's tier expiry date becomes the customer's tier expiry
      Given a customer linked to the external program at its lowest tier until 60 days from today
      When the customer is upgraded to the external program's highest tier until 90 days from today
      Then the update succeeds
      And the customer's tier in the external program expires 90 days from today
      And every customer's stored partner programs are as the documents say

    @UPDATE-TIER-EXPIRY-KEPT @doc/update-partner-program/body-parameters
    Scenario: An upgrade without a tier expiry date keeps the one set at linking
      Given a customer linked to the external program at its lowest tier until 60 days from today
      When the customer is upgraded to the external program's highest tier
      Then the update succeeds
      And the customer's tier in the external program expires 60 days from today
      And every customer's stored partner programs are as the documents say

    @UPDATE-DOWNGRADE-TIER @doc/update-partner-program/body-parameters
    Scenario: A downgrade moves the customer to the lower tier
      Given a customer linked to the external program at its highest tier
      When the customer is downgraded to the external program's lowest tier
      Then the update succeeds
      And the customer's tier in the external program is its lowest tier
      And every customer's stored partner programs are as the documents say

    @UPDATE-RENEW-TIER @doc/update-partner-program/body-parameters
    Scenario: A renewal keeps the customer at the renewed tier
      Given a customer linked to the external program at its highest tier
      When the customer's highest tier in the external program is renewed
      Then the update succeeds
      And the customer's tier in the external program is its highest tier
      And every customer's stored partner programs are as the documents say

    @UPDATE-EXPIRY-TODAY @doc/update-partner-program/body-parameters
    Scenario: An updated tier expiry date of today is accepted
      Given a customer linked to the external program at its lowest tier
      When the customer is upgraded with a tier expiry date of today
      Then the update succeeds
      And every customer's stored partner programs are as the documents say

  Rule: Each documented error code rejects the item it concerns

    @UPDATE-2002 @doc/update-partner-program/error-codes
    Scenario Outline: An update missing <missing> is rejected with 2002
      Given a customer linked to the external program at its lowest tier
      When the customer is upgraded without <missing>
      Then the update is rejected with error 2002
      And every customer's stored partner programs are as the documents say

      Examples:
        | missing             |
        | update details      |
        | an updated tier name |
        | a program name      |
        | any program name    |

    @UPDATE-2003 @doc/update-partner-program/error-codes
    Scenario: An updated tier expiry date of yesterday is rejected with 2003
      Given a customer linked to the external program at its lowest tier
      When the customer is upgraded with a tier expiry date of yesterday
      Then the update is rejected with error 2003
      And every customer's stored partner programs are as the documents say

    @UPDATE-2004 @doc/update-partner-program/error-codes
    Scenario: Updating a program the customer is not linked to is rejected with 2004
      Given a customer enrolled in the loyalty program
      When the customer is upgraded to the external program's highest tier
      Then the update is rejected with error 2004
      And every customer's stored partner programs are as the documents say

    @UPDATE-2006 @doc/update-partner-program/error-codes @read_only
    Scenario: Updating an unknown program is rejected with 2006
      Given a customer enrolled in the loyalty program
      When the customer is upgraded in a program the org does not have
      Then the update is rejected with error 2006
      And every customer's stored partner programs are as the documents say

    @UPDATE-2007 @doc/update-partner-program/error-codes
    Scenario: An unknown updated tier is rejected with 2007
      Given a customer linked to the external program at its lowest tier
      When the customer is upgraded to a tier the external program does not have
      Then the update is rejected with error 2007
      And every customer's stored partner programs are as the documents say

    @UPDATE-2009 @doc/update-partner-program/error-codes
    Scenario Outline: The update type <updateType> is rejected with 2009
      Given a customer linked to the external program at its lowest tier
      When the customer's external program is updated with update type "<updateType>"
      Then the update is rejected with error 2009
      And every customer's stored partner programs are as the documents say

      Examples:
        | updateType |
        | UPDATE     |
        | PROMOTE    |

    @UPDATE-UPDATETYPE-CASE @doc/update-partner-program/body-parameters
    Scenario: A lower-case update type is applied or rejected with 2009
      Given a customer linked to the external program at its lowest tier
      When the customer's external program is updated with update type "upgrade"
      Then the update either succeeds or is rejected with error 2009
      And every customer's stored partner programs are as the documents say

  Rule: The items of one request are answered and applied one by one

    @STATE-ITEMS-INDEPENDENT @doc/capillary-facts/http-status-conventions
    Scenario: A rejected update item does not undo the other item of its request
      Given a customer linked to the external and the supplementary program
      When the customer is upgraded in one request to the external program's highest tier and in the supplementary program to a tier it does not have
      Then the update succeeds for the external program only
      And every customer's stored partner programs are as the documents say

  Rule: A request updates at most 50 customers

    @UPDATE-2008 @doc/update-partner-program/error-codes @read_only
    Scenario: 51 unregistered customers in one request are rejected with 2008
      Given 51 customers who are not registered
      When the customers are upgraded to the external program's highest tier in one request
      Then the request is rejected with error 2008
