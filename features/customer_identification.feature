@identification
Feature: Customer identification and batch results
  Every Partner Program endpoint identifies a customer by any one of id, mobile,
  email or externalId (doc link-customer: body parameters) and answers one
  result per customer and per program (response parameters).

  Rule: Any one identifier is enough

    @IDENT-ANY-ONE @doc/link-customer/body-parameters
    Scenario Outline: A customer identified only by <identifier> is linked
      Given a customer enrolled in the loyalty program
      When the customer, identified only by <identifier>, is linked to the external program
      Then the link succeeds
      And the customer is reported as found
      And every customer's stored partner programs are as the documents say

      Examples:
        | identifier |
        | id         |
        | mobile     |
        | email      |
        | externalId |

    @IDENT-ANY-ONE @doc/link-customer/body-parameters
    Scenario Outline: A customer identified only by <identifier> is upgraded
      Given a customer linked to the external program at its lowest tier
      When the customer, identified only by <identifier>, is upgraded to the external program's highest tier
      Then the update succeeds
      And every customer's stored partner programs are as the documents say

      Examples:
        | identifier |
        | id         |
        | email      |
        | externalId |

  Rule: An unknown or unidentified customer is not linked

    @IDENT-NOT-FOUND @doc/capillary-facts/customer-identification @read_only
    Scenario: A customer who is not registered is reported as not found
      Given a customer who is not registered
      When the customer is linked to the external program
      Then the customer is reported as not found

    @IDENT-MISSING @doc/link-customer/body-parameters
    Scenario: A customer item without any identifier never succeeds
      Given a customer enrolled in the loyalty program
      When a customer given by no identifier is linked to the external program
      Then no link succeeds
      And every customer's stored partner programs are as the documents say

  Rule: A batch answers every customer and every program

    @RESULT-ORDER @doc/link-customer/response-parameters
    Scenario: Three customers linked to two programs get six results
      Given 3 customers enrolled in the loyalty program
      When the customers are linked to the external and the supplementary program in one request
      Then the link succeeds for every customer
      And every customer's stored partner programs are as the documents say
