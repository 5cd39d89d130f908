/**
 * The operations portals and reporting tools send, shared by the end-to-end tests and the benchmarks.
 */

/** Every field of the unified project view, as a fragment. */
export const PROJECT_VIEW_FIELDS = `
fragment ProjectView on Project {
  id psaId code name status region serviceLine contractType currency startDate endDate
  account { id name region hierarchy { id name } customerNumber legalEntity { id name } taxProfile { taxId exempt regime rate } paymentTerms { name days } creditStatus receivables { currency outstanding { amount currency } overdue { amount } openInvoiceCount } }
  opportunity { id name stage isWon isClosed amount { amount currency } closeDate contractType serviceLine deliveryRegion poRequired poNumber owner { id name } lineItems { id role roleName hours unitPrice { amount currency } totalPrice { amount currency } } externalIds { projectId erpProjectId psaProjectId } }
  manager { id name email role { code name } }
  milestones { id name targetDate actualDate status billable amount { amount currency } }
  resourceRequests { id role { code name } hours startDate endDate status assignment { id } }
  assignments { id status role { code name } billRate { amount currency } costRate { amount currency } resource { id name email region skills role { code name } billRate { amount currency } costRate { amount currency } weeklyCapacityHours } }
  timeTotals { timeEntryCount totalHours approvedHours submittedHours openHours approvedBillableHours approvedNonBillableHours approvedBillableValue { amount currency } approvedCost { amount currency } lastEntryDate }
  contract { erpProjectId type value { amount currency } currency paymentTerms { name days } poRequired poNumber startDate endDate legalEntity { id name country currency } rateCard { id name currency lines { role roleName billRate { amount currency } } } }
  billingSchedule { id type frequency inArrears lines { sequence date description amount { amount currency } } }
  financials { budget { amount currency } cost { amount currency } recognizedRevenue { amount currency } billed { amount currency } unbilled { amount currency } margin { amount currency } marginPercent }
  invoices { id number status total { amount currency } amountRemaining { amount } dueDate isOverdue isPartiallyPaid }
  invoiceSummary { invoiceCount billed { amount currency } paid { amount currency } outstanding { amount currency } overdue { amount currency } overdueCount lastInvoiceStatus lastInvoiceDate }
}`;

/** The portal's portfolio page: a page of projects with the whole unified view. */
export const PORTFOLIO_QUERY = `
query Portfolio($first: Int!, $after: String, $filter: ProjectFilter) {
  projects(first: $first, after: $after, filter: $filter) {
    totalCount
    pageInfo { hasNextPage endCursor }
    nodes { ...ProjectView }
  }
}
${PROJECT_VIEW_FIELDS}`;

/** The portal's project page. */
export const PROJECT_QUERY = `
query Project($id: ID!) { project(id: $id) { ...ProjectView } }
${PROJECT_VIEW_FIELDS}`;

/** A reporting tool's aggregate: billed against unbilled by region and month. */
export const BILLED_VS_UNBILLED_QUERY = `
query BilledVsUnbilled($fromMonth: String, $toMonth: String) {
  billedVsUnbilled(groupBy: [REGION, MONTH], filter: { fromMonth: $fromMonth, toMonth: $toMonth }) {
    region month currency recognizedRevenue { amount } billed { amount } unbilled { amount }
  }
}`;
