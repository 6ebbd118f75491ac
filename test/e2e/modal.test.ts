/** `/account` alone: the request form, its inline errors, and a good submission. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { issuedMetadata } from '../support/issued-metadata.js';
import type { ViewFieldInput } from '../support/slack-client.js';
import { REQUESTER, requestIdIn, startDesk, type Desk } from './harness.js';

type Values = Record<string, Record<string, ViewFieldInput>>;

function form(fields: {
  action?: string;
  backend?: string;
  username?: string;
  email?: string;
  quota?: string;
  reason?: string;
  name?: string;
}): Values {
  const values: Values = {};
  if (fields.action) values.field_action = { value: { selectedOption: fields.action } };
  if (fields.backend) values.field_backend = { value: { selectedOption: fields.backend } };
  values.field_username = { value: fields.username ?? '' };
  if (fields.email !== undefined) values.field_email = { value: fields.email };
  if (fields.quota !== undefined) values.field_quota = { value: fields.quota };
  if (fields.reason !== undefined) values.field_reason = { value: fields.reason };
  if (fields.name !== undefined) values.field_display_name = { value: fields.name };
  return values;
}

interface ErrorsAck {
  response_action?: string;
  errors?: Record<string, string>;
}

describe('the request modal', () => {
  let desk: Desk;
  beforeEach(async () => {
    desk = await startDesk();
  });
  afterEach(async () => {
    await desk.stop();
  });

  it('opens with the trigger id, offering the enabled actions and every backend', async () => {
    const modal = await desk.openRequestModal(REQUESTER);
    // The fake only opens a view for a valid, unused trigger id issued to this user.
    expect(modal.user).toBe(REQUESTER);
    expect(modal.via).toBe('views.open');
    expect(desk.slack.calls('views.open').every((c) => c.outcome.ok)).toBe(true);

    const blocks = modal.view.blocks as { block_id?: string; element?: { options?: { value: string }[] } }[];
    const optionsOf = (blockId: string) =>
      blocks.find((b) => b.block_id === blockId)?.element?.options?.map((o) => o.value);
    // join/leave are off by default; onboarding is offered because the config has profiles.
    expect(optionsOf('field_action')).toEqual([
      'create',
      'disable',
      'enable',
      'quota',
      'delete',
      'reinvite',
      'onboard',
      'offboard',
    ]);
    expect(optionsOf('field_backend')).toEqual(['cloud', 'nas', 'sso']);
    expect(blocks.map((b) => b.block_id)).toEqual(
      expect.arrayContaining(['field_username', 'field_email', 'field_quota', 'field_reason']),
    );
  });

  it('puts a bad quota error on the quota block', async () => {
    const modal = await desk.openRequestModal(REQUESTER);
    const ack = (await desk.submitView(
      REQUESTER,
      'request_modal',
      String(modal.view.private_metadata),
      form({ action: 'quota', backend: 'cloud', username: 'alice', quota: 'lots' }),
    )) as ErrorsAck;
    expect(ack.response_action).toBe('errors');
    expect(Object.keys(ack.errors ?? {})).toEqual(['field_quota']);
    expect(ack.errors?.field_quota).toBeTruthy();
    expect(await desk.app.desk.queries.listPending()).toHaveLength(0);
  });

  it('puts a missing email for a cloud create on the email block', async () => {
    const modal = await desk.openRequestModal(REQUESTER);
    const ack = (await desk.submitView(
      REQUESTER,
      'request_modal',
      String(modal.view.private_metadata),
      form({ action: 'create', backend: 'cloud', username: 'alice' }),
    )) as ErrorsAck;
    expect(ack.response_action).toBe('errors');
    expect(Object.keys(ack.errors ?? {})).toEqual(['field_email']);
    expect(ack.errors?.field_email).toMatch(/email address is required/);
  });

  it('puts an unknown backend on the backend block, naming the known ones', async () => {
    const ack = (await desk.submitView(
      REQUESTER,
      'request_modal',
      issuedMetadata(desk.slack.token, 'request_modal', REQUESTER, '{}'),
      form({ action: 'disable', backend: 'mainframe', username: 'alice' }),
    )) as ErrorsAck;
    expect(ack.response_action).toBe('errors');
    expect(Object.keys(ack.errors ?? {})).toEqual(['field_backend']);
    expect(ack.errors?.field_backend).toContain('cloud, nas, sso');
  });

  it('puts a bad username on the username block', async () => {
    const ack = (await desk.submitView(
      REQUESTER,
      'request_modal',
      issuedMetadata(desk.slack.token, 'request_modal', REQUESTER, '{}'),
      form({ action: 'disable', backend: 'cloud', username: '../admin' }),
    )) as ErrorsAck;
    expect(ack.response_action).toBe('errors');
    expect(Object.keys(ack.errors ?? {})).toEqual(['field_username']);
  });

  it('a good submission stores the request, sends the receipt to the requester and posts the card', async () => {
    const modal = await desk.openRequestModal(REQUESTER);
    const ack = await desk.submitView(
      REQUESTER,
      'request_modal',
      String(modal.view.private_metadata),
      form({
        action: 'create',
        backend: 'cloud',
        username: 'frank',
        email: 'frank@example.com',
        quota: '15 GB',
        reason: 'intern',
      }),
    );
    expect(ack).toBeUndefined(); // an empty ack closes the modal

    const receipt = await desk.slack.waitFor(
      () => desk.slack.ephemeralsFor(REQUESTER).find((e) => e.text.includes('is in')),
      5_000,
    );
    // The receipt goes where /account was typed (the modal carried only that channel id).
    expect(receipt.channel).toBe('C0GENERAL');
    const id = requestIdIn(receipt.text);
    const request = await desk.request(id);
    expect(request).toMatchObject({
      plan: 'single',
      steps: [{ action: 'create', backend: 'cloud', username: 'frank' }],
      username: 'frank',
      requester: REQUESTER,
      state: 'pending',
      reason: 'intern',
    });
    expect(request.steps[0]?.params).toMatchObject({ email: 'frank@example.com', quotaBytes: 15 * 1024 ** 3 });
    const card = await desk.card(id);
    expect(card).toContain('create frank (frank@example.com, quota 15 GB)');
  });
});
