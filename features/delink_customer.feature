@deLinkCustomer
Feature: Delink a customer from a partner program
  POST /v2/partnerProgram/deLinkCustomer (doc delink-customer). The page documents
  no error codes and says "Batch support: No": the requirements marked inferred
  in the catalogue are judged leniently unless their ambiguity is made strict.

  Rule: A delink removes the link

    @DELINK-SUCCESS @DELINK-REMOVES-LINK @doc/delink-customer/response-parameter @doc/delink-customer/overview
    Scenario: A linked customer is delinked from the external program
      Given a customer linked to the external program
      And the customer's linked programs list the external program
      When the customer is delinked from the external program
      Then the delink succeeds
      And the customer's linked programs no longer include the external program
      And every customer's stored partner programs are as the documents say

    @DELINK-REMOVES-LINK @STATE-OTHERS-UNCHANGED @doc/delink-customer/overview @doc/update-partner-program/overview
    Scenario: Delinking one program leaves the customer's other program as it was
      Given a customer linked to the external and the supplementary program
      When the customer is delinked from the external program
      Then the customer's linked programs no longer include the external program
      And every customer's stored partner programs are as the documents say

    @DELINK-RELINK-AFTER @doc/delink-customer/overview
    Scenario: A delinked customer can be linked again
      Given a customer linked to the external program
      And the customer was delinked from the external program
      When the customer is linked to the external program
      Then the link succeeds
      And every customer's stored partner programs are as the documents say

  Rule: A delink that cannot apply is rejected

    @DELINK-2004 @doc/delink-customer/response-parameter
    Scenario: Delinking a program the customer is not linked to is rejected
      Given a customer enrolled in the loyalty program
      When the customer is delinked from the external program
      Then the delink is rejected with error 2004
      And every customer's stored partner programs are as the documents say

    @DELINK-2006 @doc/delink-customer/response-parameter @read_only
    Scenario: Delinking an unknown program is rejected
      Given a customer enrolled in the loyalty program
      When the customer is delinked from a program the org does not have
      Then the delink is rejected with error 2006
      And every customer's stored partner programs are as the documents say

  Rule: The items of one request are answered and applied one by one

    @STATE-ITEMS-INDEPENDENT @doc/capillary-facts/http-status-conventions
    Scenario: A rejected delink item does not undo the other item of its request
      Given a customer linked to the external program
      When the customer is delinked in one request from the external program and from a program the org does not have
      Then the delink succeeds for the external program only
      And every customer's stored partner programs are as the documents say

  Rule: Batches of delinks

    @DELINK-2008 @doc/delink-customer/resource-information @read_only
    Scenario: 51 unregistered customers in one delink request are rejected
      Given 51 customers who are not registered
      When the customers are delinked from the external program in one request
      Then the request is rejected with error 2008
