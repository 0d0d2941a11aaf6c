@linkCustomer
Feature: Link a customer to a partner program
  POST /v2/partnerProgram/linkCustomer (doc link-customer: body parameters,
  example response, response parameters, error codes, warning codes).
  Each scenario's Given states the state of its customers: a new one, or one an earlier
  scenario left in that state and the state oracle confirmed; scenarios run in any order.

  Rule: A valid link succeeds and reports the customer as found

    @LINK-SUCCESS @LINK-CUSTOMER-STATUS @doc/link-customer/example-response @doc/link-customer/response-parameters
    Scenario: A loyalty customer is linked to an external program
      Given a customer enrolled in the loyalty program
      When the customer is linked to the external program
      Then the link succeeds
      And the customer is reported as found
      And the customer's linked programs include the external program
      And every customer's stored partner programs are as the documents say

    @LINK-EXPIRY-TODAY @doc/link-customer/body-parameters
    Scenario: A tier expiry date of today is accepted
      Given a customer enrolled in the loyalty program
      When the customer is linked to the external program with a tier expiry date of today
      Then the link succeeds
      And every customer's stored partner programs are as the documents say

    @LINK-OPTIONAL-REFERENCE @doc/link-customer/body-parameters
    Scenario: A link that names no tier and no tier expiry succeeds
      Given a customer enrolled in the loyalty program
      When the customer is linked to the external program without a tier or a tier expiry
      Then the link succeeds
      And every customer's stored partner programs are as the documents say

    @LINK-START-TODAY @doc/link-customer/body-parameters
    Scenario: A membership start date of today is accepted for a new link
      Given a customer enrolled in the loyalty program
      When the customer is linked to the supplementary program with a membership start date of today
      Then the link succeeds
      And every customer's stored partner programs are as the documents say

  Rule: Each documented error code rejects the item it concerns

    @LINK-2002 @doc/link-customer/error-codes
    Scenario: An empty program name is rejected with 2002
      Given a customer enrolled in the loyalty program
      When the customer is linked to a program with an empty name
      Then the link is rejected with error 2002
      And every customer's stored partner programs are as the documents say

    @LINK-2002 @doc/link-customer/error-codes
    Scenario: A program item without a name at all is rejected with 2002
      Given a customer enrolled in the loyalty program
      When the customer is linked to a program item that names no program
      Then the link is rejected with error 2002
      And every customer's stored partner programs are as the documents say

    @LINK-2002-MEMBERSHIP-ID @doc/link-customer/body-parameters
    Scenario: A new enrollment without a membership id is rejected
      Given a customer enrolled in the loyalty program
      When the customer is linked to the external program without a membership id
      Then the link is rejected with error 2002
      And every customer's stored partner programs are as the documents say

    @LINK-2003 @doc/link-customer/error-codes
    Scenario: A tier expiry date of yesterday is rejected with 2003
      Given a customer enrolled in the loyalty program
      When the customer is linked to the external program with a tier expiry date of yesterday
      Then the link is rejected with error 2003
      And every customer's stored partner programs are as the documents say

    @LINK-2005-NOT-ENROLLED @doc/link-customer/error-codes
    Scenario: A customer not enrolled in the loyalty program is rejected with 2005
      Given a customer not enrolled in the loyalty program
      When the customer is linked to the external program
      Then the link is rejected with error 2005
      And every customer's stored partner programs are as the documents say

    @LINK-2005-ALREADY-LINKED @doc/link-customer/error-codes
    Scenario: Linking an already linked program again is rejected with 2005
      Given a customer linked to the external program
      When the customer is linked to the external program
      Then the link is rejected with error 2005
      And every customer's stored partner programs are as the documents say

    @LINK-2006 @doc/link-customer/error-codes @read_only
    Scenario: An unknown program is rejected with 2006
      Given a customer enrolled in the loyalty program
      When the customer is linked to a program the org does not have
      Then the link is rejected with error 2006
      And every customer's stored partner programs are as the documents say

    @LINK-2007 @doc/link-customer/error-codes
    Scenario: An unknown tier is rejected with 2007
      Given a customer enrolled in the loyalty program
      When the customer is linked to the external program at a tier it does not have
      Then the link is rejected with error 2007
      And every customer's stored partner programs are as the documents say

    @LINK-2019 @doc/link-customer/error-codes
    Scenario: A second supplementary program is rejected with 2019
      Given a customer linked to the supplementary program
      When the customer is linked to the second supplementary program
      Then the link is rejected with error 2019
      And every customer's stored partner programs are as the documents say

    @LINK-2019-LIFTED @doc/link-customer/error-codes
    Scenario: Once the supplementary program is delinked another supplementary program can be linked
      Given a customer linked to the supplementary program
      And the customer was delinked from the supplementary program
      When the customer is linked to the second supplementary program
      Then the link succeeds
      And every customer's stored partner programs are as the documents say

  Rule: The items of one request are answered and applied one by one

    @STATE-ITEMS-INDEPENDENT @doc/capillary-facts/http-status-conventions
    Scenario: A rejected program item does not undo the other item of its request
      Given a customer enrolled in the loyalty program
      When the customer is linked in one request to the supplementary program and to the external program at a tier it does not have
      Then the link succeeds for the supplementary program only
      And every customer's stored partner programs are as the documents say

  Rule: The supplementary expiry warning is reported

    @LINK-W1302 @doc/link-customer/warning-codes
    Scenario: A supplementary tier expiry before the membership expiry adds warning 1302
      Given a customer enrolled in the loyalty program
      When the customer is linked to the supplementary program with a tier expiry before its membership ends
      Then the link succeeds
      And the response carries warning 1302
      And every customer's stored partner programs are as the documents say

  Rule: A request links at most 50 customers

    @LINK-2008 @doc/link-customer/error-codes @read_only
    Scenario: 51 unregistered customers in one request are rejected with 2008
      Given 51 customers who are not registered
      When the customers are linked to the external program in one request
      Then the request is rejected with error 2008
