/** Seeds a fresh CRM sandbox from the deterministic world. */
import { type SqliteStore, isoFromDay } from '../../../platform/src/index.js';
import { OPPORTUNITY_STAGES } from '../../../sandboxes/src/world/catalog.js';
import { type World, billingCustomerIdOf } from '../../../sandboxes/src/world/world.js';

export function seedCrm(store: SqliteStore, world: World): void {
  const insertUser = store.prepare('INSERT INTO crm_user (id, name, email) VALUES (?, ?, ?)');
  world.users.forEach((id, i) => insertUser.run([id, `Sales Rep ${i + 1}`, `sales.rep.${i + 1}@meridian-advisory.example`]));
  const insertStage = store.prepare('INSERT INTO opportunity_stage VALUES (?, ?, ?, ?, ?, ?)');
  OPPORTUNITY_STAGES.forEach((stage, i) =>
    insertStage.run([stage.name, i, stage.probability, stage.isClosed ? 1 : 0, stage.isWon ? 1 : 0, stage.forecastCategory]),
  );
  const insertAccount = store.prepare(
    `INSERT INTO account (id, name, type, industry, region, currency, street, city, state, postal_code, country, owner_id, parent_id,
       tax_id, erp_customer_id, billing_customer_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  for (const account of world.accounts) {
    insertAccount.run([
      account.crmId,
      account.name,
      account.type === 'Customer' ? 'CUSTOMER' : 'PROSPECT',
      account.industry,
      account.region,
      account.currency,
      account.street,
      account.city,
      account.state || null,
      account.postalCode,
      account.country,
      world.users[account.ownerUserIndex],
      account.parentIndex === null ? null : world.accounts[account.parentIndex]!.crmId,
      account.taxId,
      account.erpCustomerId === null ? null : String(account.erpCustomerId),
      billingCustomerIdOf(world, account),
    ]);
  }
  const insertOpportunity = store.prepare(
    `INSERT INTO opportunity (id, account_id, name, stage_name, currency, close_date, contract_type, service_line, delivery_region,
       po_required, po_number, owner_id, project_id, erp_project_id, psa_project_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const insertLine = store.prepare(
    'INSERT INTO opportunity_line_item (id, opportunity_id, sort_order, role, hours, unit_price_minor) VALUES (?, ?, ?, ?, ?, ?)',
  );
  for (const opportunity of world.opportunities) {
    const project = opportunity.projectIndex === null ? null : world.projects[opportunity.projectIndex]!;
    insertOpportunity.run([
      opportunity.crmId,
      world.accounts[opportunity.accountIndex]!.crmId,
      opportunity.name,
      opportunity.stageName,
      opportunity.currency,
      isoFromDay(opportunity.closeDay),
      opportunity.contractType,
      opportunity.serviceLine,
      opportunity.deliveryRegion,
      opportunity.poRequired ? 1 : 0,
      opportunity.poNumber,
      world.users[opportunity.ownerUserIndex],
      project?.id ?? null,
      project ? String(project.erpId) : null,
      project?.psaId ?? null,
    ]);
    opportunity.lines.forEach((line, i) => insertLine.run([line.crmId, opportunity.crmId, i, line.role, line.hours, line.unitPriceMinor]));
  }
}
