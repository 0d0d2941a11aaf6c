@auth
Feature: Authentication and malformed requests
  Basic and OAuth authentication and the request-level error envelope
  (doc capillary-facts: authentication, HTTP status conventions).

  Rule: Only valid credentials are accepted

    @AUTH-BASIC @doc/capillary-facts/authentication
    Scenario: Basic credentials of till and md5 password are accepted
      Given an org whose credentials are a till and password
      And a customer enrolled in the loyalty program
      When the customer is linked to the external program
      Then the link succeeds
      And every customer's stored partner programs are as the documents say

    @AUTH-OAUTH @doc/capillary-facts/authentication
    Scenario: An OAuth token is accepted
      Given an org whose credentials are an OAuth key and secret
      And a customer enrolled in the loyalty program
      When the customer is linked to the external program
      Then the link succeeds
      And every customer's stored partner programs are as the documents say

    @AUTH-401 @doc/capillary-facts/http-status-conventions @read_only
    Scenario Outline: A link request <credentials> is refused
      Given a customer who is not registered
      When the customer is linked to the external program <credentials>
      Then the request is refused as unauthenticated

      Examples:
        | credentials              |
        | without credentials      |
        | with a wrong password    |
        | with a forged OAuth token |

  Rule: Malformed bodies get a 4xx in the error envelope

    @REQ-MALFORMED @doc/capillary-facts/http-status-conventions @read_only
    Scenario Outline: A <malformation> sent to <endpoint> is rejected as malformed
      When a <malformation> is sent to <endpoint>
      Then the request is rejected as malformed

      Examples:
        | malformation                     | endpoint                     |
        | body that is not JSON            | linkCustomer                 |
        | body that is not JSON            | customerPartnerProgramUpdate |
        | body that is not JSON            | deLinkCustomer               |
        | body without its customer list   | linkCustomer                 |
        | body without its customer list   | customerPartnerProgramUpdate |
        | body without its customer list   | deLinkCustomer               |
        | customer list of the wrong type  | linkCustomer                 |
        | customer list of the wrong type  | customerPartnerProgramUpdate |
        | customer list of the wrong type  | deLinkCustomer               |
        | body that is a JSON array        | linkCustomer                 |
        | body of non-UTF-8 bytes          | linkCustomer                 |
