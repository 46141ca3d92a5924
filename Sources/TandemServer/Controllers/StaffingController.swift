import Foundation
import TandemCore
import Vapor

/// The staffing planner: `/console/staffing` (a form posted back to the server, which renders
/// the plan and its chart) and `POST /api/v1/staffing/plan` (the same plan as JSON).
struct StaffingController: RouteCollection {
    func boot(routes: RoutesBuilder) throws {
        let pages = routes.grouped("console").grouped(RoleGuard(role: .supervisor))
        pages.get("staffing", use: page)
        pages.on(.POST, "staffing", body: .collect(maxSize: "2mb"), use: submit)
        routes.grouped("api", "v1").grouped(RoleGuard(role: .supervisor))
            .on(.POST, "staffing", "plan", body: .collect(maxSize: "2mb"), use: plan)
    }

    /// `POST /api/v1/staffing/plan`: any subset of `StaffingRequest` (`{}` plans a sample day on the defaults).
    func plan(_ req: Request) async throws -> StaffingResult {
        let request = try req.decoded(StaffingRequest.self)
        return try await plan(request, req, settings: try await req.tandem.settings(on: req.db))
    }

    func page(_ req: Request) async throws -> View {
        let settings = try await req.tandem.settings(on: req.db)
        let result = try await plan(StaffingRequest(), req, settings: settings)
        return try await render(req, settings: settings, form: StaffingForm(result.request), result: result)
    }

    /// The form posted back: the plan for its values, or the form again with what was wrong.
    func submit(_ req: Request) async throws -> Response {
        let form = try req.content.decode(StaffingForm.self)
        let settings = try await req.tandem.settings(on: req.db)
        do {
            let result = try await plan(try form.request(), req, settings: settings)
            return try await render(req, settings: settings, form: form, result: result).encodeResponse(for: req)
        } catch let error as AppError {
            let response = try await render(req, settings: settings, form: form, result: nil, error: StaffingForm.message(for: error))
                .encodeResponse(for: req)
            response.status = error.status
            return response
        }
    }

    /// The request's gaps filled from the workspace and the serving model, then planned.
    private func plan(_ request: StaffingRequest, _ req: Request, settings: WorkspaceSettings) async throws -> StaffingResult {
        let (filled, sources) = try await StaffingService.defaults(for: request, settings: settings,
                                                                   artifact: req.tandem.intelligence.active?.artifact, on: req.db,
                                                                   now: req.tandem.clock.now)
        return try StaffingService.plan(filled, sources: sources)
    }

    private func render(_ req: Request, settings: WorkspaceSettings, form: StaffingForm, result: StaffingResult?, error: String? = nil) async throws -> View {
        try await req.view.render("staffing", StaffingPage(agent: try req.agent, form: form, result: result, currency: settings.currency, error: error))
    }
}
